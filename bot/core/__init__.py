"""The platform-neutral heart of cibot: commands, identity, replies, forms and rendering."""
