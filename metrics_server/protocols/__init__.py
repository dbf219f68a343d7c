"""Wire protocols of other agents: one thin parser per protocol, each turning a request into `Samples` that the
same ingest path as /api/write validates and stores (VictoriaMetrics' app/vminsert/<protocol>/ is the model)."""
