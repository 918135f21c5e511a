from jaccli.cli import main

main()
