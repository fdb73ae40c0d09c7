using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Acp;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// What an ACP agent's session/new says of its models, as the real ones put it (their answers are in docs/agents.md, "Models per
/// agent"): a model config option wins over the session models, grouped values are flattened, and the one in use is always listed.
/// </summary>
public sealed class AcpModelsTests
{
    private static AcpModels? Read(string json) => AcpModels.Read(AcpJson.Read<NewSessionResponse>(JsonElement.Parse(json)));

    [Fact]
    public void AModelConfigOption_IsTheList_AndIsChosenWithSetConfigOption()
    {
        var models = Read("""
            {"sessionId":"s","models":{"currentModelId":"m-old","availableModels":[{"modelId":"m-old","name":"Old"}]},
             "configOptions":[{"id":"mode","category":"mode","type":"select","currentValue":"default","options":[{"value":"default","name":"Manual"}]},
                              {"id":"model","category":"model","type":"select","currentValue":"default","options":[
                                {"value":"default","name":"Default (recommended)","description":"Opus"},{"value":"haiku","name":"Haiku","description":" "}]}]}
            """)!;
        Assert.Equal(["default", "haiku"], models.Offered.Models.Select(m => m.Id));
        Assert.Equal("default", models.Offered.Current);
        Assert.Null(models.Offered.Models[1].Description);
        var (method, parameters) = models.Select("s", models.Offered.Find("Haiku")!);
        Assert.Equal("session/set_config_option", method);
        Assert.Equal("""{"sessionId":"s","configId":"model","value":"haiku"}""", parameters.ToJsonString());
    }

    [Fact]
    public void GroupedValues_AreFlattened()
    {
        var models = Read("""
            {"sessionId":"s","configOptions":[{"id":"m","category":"model","type":"select","currentValue":"b","options":[
              {"group":"fast","name":"Fast","options":[{"value":"a","name":"A"}]},{"group":"big","name":"Big","options":[{"value":"b","name":"B"}]}]}]}
            """)!;
        Assert.Equal(["a", "b"], models.Offered.Models.Select(m => m.Id));
    }

    [Fact]
    public void SessionModels_WithoutAnOption_AreChosenWithSetModel_AndTheOneInUseIsListed()
    {
        var models = Read("""
            {"sessionId":"s","models":{"currentModelId":"gemini-9","availableModels":[{"modelId":"auto","name":"Auto"},{"modelId":"gemini-2.5-pro","name":"gemini-2.5-pro"}]}}
            """)!;
        Assert.Equal(["gemini-9", "auto", "gemini-2.5-pro"], models.Offered.Models.Select(m => m.Id));
        Assert.Equal("session/set_model", models.Select("s", models.Offered.Find("auto")!).Method);
        Assert.Null(models.Offered.Find("gpt-5"));
    }

    [Fact]
    public void NoModels_IsNull()
    {
        Assert.Null(Read("""{"sessionId":"s","configOptions":[{"id":"allow_all","category":"permissions","type":"select","currentValue":"off","options":[]}]}"""));
    }

    [Fact]
    public void FindingAModel_ByIdFirst_ThenByNameIgnoringCase()
    {
        var models = AgentModels.Of([new AgentModel("$runtime|openai|fake-model(openai)", "fake-model", null), new AgentModel("fake-model", "Other", null)], null);
        Assert.Equal("fake-model", models.Find("fake-model")!.Id);
        Assert.Equal("$runtime|openai|fake-model(openai)", models.Find("FAKE-MODEL")!.Id);
    }
}
