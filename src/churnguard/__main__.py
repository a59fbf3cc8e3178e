from churnguard.cli import main

main()
