"""Pure values every layer shares: the clock, domain errors, ID numbers and money.

Nothing here imports a framework or another part of careapp (an import-linter contract).
"""
