"""What registration and login both rely on: passwords, client networks, login budgets and
device tokens. It imports neither ``accounts`` nor ``auth``; both import it."""
