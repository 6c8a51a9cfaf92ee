"""What runs the bot over time: the scheduler, the outbox and its dispatcher, leader election."""
