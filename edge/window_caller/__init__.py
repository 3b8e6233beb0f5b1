"""Window caller: the officer's keypad at one window, asking the hall's queue to call and serve."""
