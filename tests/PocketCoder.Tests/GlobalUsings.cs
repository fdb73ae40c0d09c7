// Tests that start real servers and real agent CLIs are heavy on a 2-core machine: run test classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The product and its tests run on Linux only (setsid, tmux, realpath, statx).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
