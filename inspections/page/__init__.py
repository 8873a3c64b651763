"""For operators: the read-only operator page (``server``), what it reads (``sources``), what
its board shows (``board``), its detail and rejected-record pages (``details``,
``rejected``), its pictures (``pictures``) and templates."""
