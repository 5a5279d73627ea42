# rules: (being written)
