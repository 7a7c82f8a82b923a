"""torchvision's MobileNetV2 architecture (its module and parameter names), written once against an `nn`
namespace so that torch.nn and baregrad.nn build the same network: the legacy-checkpoint tests and
bench/legacy_checkpoint.py save one with torch and load it into the other."""
from __future__ import annotations

from typing import Any

# (expansion t, output channels c, repeats n, first stride s), as in the paper and torchvision
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1)]


def conv_bn_relu(nn: Any, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> Any:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6())


def mobilenet_v2(nn: Any, num_classes: int = 1000, width: float = 1.0) -> Any:
    """torchvision.models.mobilenet_v2(num_classes=...) built from `nn` (torch.nn or baregrad.nn)."""

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, expand: int):
            super().__init__()
            hidden = cin * expand
            self.use_res_connect = stride == 1 and cin == cout
            layers = [conv_bn_relu(nn, cin, hidden, 1)] if expand != 1 else []
            layers += [conv_bn_relu(nn, hidden, hidden, 3, stride, hidden),
                       nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            cin, last = int(32 * width), int(1280 * max(1.0, width))
            features = [conv_bn_relu(nn, 3, cin, stride=2)]
            for t, c, n, s in SETTINGS:
                cout = int(c * width)
                for i in range(n):
                    features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                    cin = cout
            features.append(conv_bn_relu(nn, cin, last, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

        def forward(self, x: Any) -> Any:
            x = self.features(x).mean((2, 3))
            return self.classifier(x)

    return MobileNetV2()
