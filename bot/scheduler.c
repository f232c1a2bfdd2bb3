/* bot/scheduler.c — placeholder until the module lands. */
