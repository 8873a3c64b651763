"""What a deployment is told: its settings, the city's policy, the topics' names."""
