import NN
import Testing
@testable import ModelExport

@Suite struct InferenceLoweringTests {
    /// Every BatchNorm after a convolution is folded (the projection shortcut's too), the lone one
    /// becomes an affine step, dropout is gone.
    @Test func foldsBatchNormsAndDropsDropout() throws {
        let model = try ExportFixtures.model()
        let operations = try InferenceLowering.lower(model.network)
        #expect(operations.map(Self.kind) == ["conv", "relu", "residual", "affine", "maxPool", "flatten", "dense", "silu", "dense"])
        guard case let .residual(body, shortcut) = operations[2] else { Issue.record("no residual"); return }
        #expect(body.map(Self.kind) == ["conv", "relu"])
        #expect(shortcut.map(Self.kind) == ["conv"])
        guard case let .convolution(projection) = shortcut[0] else { return }
        #expect(projection.kernelSize == 1 && projection.stride == 2 && projection.padding == 0)
    }

    @Test func ensembleMembersAreLoweredEach() throws {
        let member: [LayerSpec] = [.flatten, .dense(units: 3), .batchNorm()]
        let spec = ArchitectureSpec(name: "pair", inputShape: [1, 4, 4], classes: 3, layers: [.ensemble(members: [member, member])])
        let operations = try InferenceLowering.lower(try spec.build())
        guard case let .ensemble(members) = operations.first else { Issue.record("no ensemble: \(operations)"); return }
        #expect(members.map { $0.map(Self.kind) } == [["flatten", "dense"], ["flatten", "dense"]])
    }

    static func kind(_ operation: InferenceOperation) -> String {
        switch operation {
        case .convolution: "conv"
        case .dense: "dense"
        case .channelAffine: "affine"
        case .relu: "relu"
        case .silu: "silu"
        case .gelu: "gelu"
        case .maxPool: "maxPool"
        case .averagePool: "averagePool"
        case .globalAveragePool: "globalAveragePool"
        case .flatten: "flatten"
        case .residual: "residual"
        case .ensemble: "ensemble"
        }
    }
}
