/* bot/net/onebot11.c — placeholder until the module lands. */
