"""Work that runs outside a request: the scheduler's job table and the print-batch runner."""
