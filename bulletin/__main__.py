"""``python -m bulletin`` runs the command line."""

from .cli import main

# Guarded: worker processes started with multiprocessing's "spawn" (dask's LocalCluster)
# import this module again as __mp_main__ and must not run the command line a second time.
if __name__ == "__main__":
    main()
