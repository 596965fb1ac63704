"""The text side of the agent: context under a token budget, clause chunking, speakable text."""
