from rma.documents.corpus.cli import main

main()
