from jaccli.program import main

main()
