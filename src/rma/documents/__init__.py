"""Client documents: uploads checked, pages read, type and fields extracted and checked."""
