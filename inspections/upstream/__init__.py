"""For integrators of upstream systems: validate and publish events (``publish``), read and
answer rejected records (``rejected``), the machine-readable contract written from the models
(``contract``) and the services' topology as the README shows it (``topology``)."""
