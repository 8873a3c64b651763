"""For auditors, and for whoever rebuilds: the inbound log replayed through the services'
declarations (``replay``, ``runs``, ``parallel``, ``views``), every derived event checked
against it (``verify``, ``checks``), the trail from a fact back to the events behind it
(``trail``, ``trail_tree``), and a service's state rebuilt beside the live one (``rebuild``)."""
