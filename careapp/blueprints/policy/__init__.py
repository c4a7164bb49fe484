"""Policy versions (administrators): the instrument in force, grading rules, categories."""
