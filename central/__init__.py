"""Central: supervision records, countdown engine, statistics, API and the big screen."""
