"""`python -m tavus_mcp` and the `mcp-server-tavus` command."""


def run() -> None:
    # Ctrl+C ends the command at once and quietly, even while it is still importing what it needs: the default
    # action rather than a KeyboardInterrupt traceback, which would tell a person nothing (uvicorn, serving HTTP,
    # installs its own graceful handler). Set here, not in tavus_mcp.cli, so that importing the CLI changes nothing.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from tavus_mcp.cli import main

    main()


if __name__ == "__main__":
    run()
