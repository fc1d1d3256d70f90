# fabric/: the guests' private Ethernet (included by the top Makefile.am).
