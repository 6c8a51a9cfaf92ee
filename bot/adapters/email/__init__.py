"""Email: the HTML dialect, message building (HTML and plain-text parts) and the SMTP sender."""
