"""What people see of a result: terminal and Markdown tables, figures, atomic files."""
