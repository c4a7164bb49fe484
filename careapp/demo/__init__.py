"""Generated data: the demo a newcomer clicks through, the city-sized day, the simulation."""
