"""The wizard's steps and dialogs, one screen each."""
