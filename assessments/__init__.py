"""Assessment instruments and grading: pure, framework-free."""
