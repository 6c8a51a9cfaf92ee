"""cibot: the chat bot that keeps a collective impact initiative's rhythm of communication."""
