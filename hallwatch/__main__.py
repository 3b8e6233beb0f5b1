from hallwatch.cli import main

main()
