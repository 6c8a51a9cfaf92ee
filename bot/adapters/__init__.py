"""Platform adapters: each translates its platform's events into core calls and core replies back."""
