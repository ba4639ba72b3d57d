"""What the Slack, Telegram and Teams channels share: written once, used by each."""
