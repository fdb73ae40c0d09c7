using PocketCoder.Agents.Processes.Network;
using PocketCoder.Cli;

// A sandbox's first process (its network helper) becomes the agent as soon as it can: nothing else is loaded for it.
if (SandboxNetworkEntry.IsHelper(args))
{
    return SandboxNetworkEntry.Run(args, Console.Error);
}

return await CommandLine.RunAsync(args, Console.Out, Console.Error);
