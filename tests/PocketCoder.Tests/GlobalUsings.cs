// Tests that start real servers and real agent CLIs are heavy on a 2-core machine: run test classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

