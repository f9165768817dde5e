"""``python -m bulletin`` runs the command line."""

# Guarded, import included: worker processes started with multiprocessing's "spawn" (dask's
# LocalCluster) import this module again as __mp_main__; they must not run the command line a
# second time, and need not import it (a worker starts sooner without it).
if __name__ == "__main__":
    from bulletin.cli import main

    main()
