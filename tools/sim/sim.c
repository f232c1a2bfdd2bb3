/* tools/sim/sim.c — placeholder until the module lands. */
