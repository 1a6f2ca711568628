"""What `taotp check` is built from: statistics of a run (stats), the inputs as token
arrays (batches), splitting the work into shards and running them on processes or a
Dask cluster (shards, backends). `taotp.check` is the front."""
