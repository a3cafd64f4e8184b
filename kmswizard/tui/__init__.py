"""The wizard: a Textual front end over the same workflow as the headless commands."""
