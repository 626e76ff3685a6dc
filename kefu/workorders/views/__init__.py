"""Work-order pages: queues, intake, the order page with its actions, shift handovers, policy data."""
