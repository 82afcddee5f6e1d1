return await MertEndpoint.Emulator.EmulatorApp.RunAsync(args);
