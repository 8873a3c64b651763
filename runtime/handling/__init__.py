"""What every runner does with a record alike: the handler's context, the partition's clock
(an event dated too far ahead refused), packing values for a one-partition topic, what a
derived fact reports."""
