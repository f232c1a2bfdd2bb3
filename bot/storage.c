/* bot/storage.c — placeholder until the module lands. */
