// Intentionally empty: the module only declares runtime functions (see include/FinalizeShims.h).
