"""Asking the running services over HTTP (``client``): what is due across them (``due``), the
state of a deployment (``status``), the annual assessment's inputs as a table
(``assessment``)."""
