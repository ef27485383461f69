from opsctl.cli.entry import main

main()
