"""Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein, 2017, "Unrolled Generative Adversarial Networks")."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torch.func import functional_call

from lightning_gen.losses import discriminator_loss, generator_loss
from lightning_gen.models.gan import GAN
from lightning_gen.utils.validation import check_choice

__all__ = ["UnrollOptimizer", "UnrolledGAN"]

UnrollOptimizer = Literal["adam", "sgd"]


class UnrolledGAN(GAN):
    """GAN whose generator loss looks ``unroll_steps`` discriminator updates ahead (Metz et al., 2017).

    The generator minimises f_K(theta_G, theta_D) = f(theta_G, theta_D^K(theta_G, theta_D)) (paper eq. 5-7):
    theta_D^0 is the current discriminator, and theta_D^{k+1} is theta_D^k after one update of the
    discriminator's loss on the current real batch and the current (differentiable) fake batch. The K
    updates are computed functionally (``torch.func.functional_call``) with ``create_graph=True``, so the
    generator's gradient includes the term through the unrolled updates (the paper's second term, which
    is what prevents collapse). The discriminator's own update is still one ordinary step (Algorithm 1's
    D phase of :class:`GAN`); only :meth:`generator_objective` differs, and ``unroll_steps=0`` is exactly
    the plain GAN.

    Unrolled optimiser (``unroll_optimizer``):
        ``"adam"`` (default; what the authors' code does): each unrolled step is an Adam step that starts
        from the discriminator optimiser's current moments and step count, with its lr, betas and eps
        (the real optimiser's state is read, never written). ``"sgd"``: theta <- theta - lr_d * grad
        (the paper's eq. 6 with a plain gradient step).

    BatchNorm (or any buffer) in the discriminator: the unrolled forwards run in train mode on *clones* of
    the buffers, so batch statistics are used as in a real update, while the lookahead never changes the
    discriminator's running statistics; only its real update does.

    Args:
        unroll_steps: K, the number of unrolled discriminator updates (the paper uses 1-10; 0 = GAN).
        unroll_optimizer: ``"adam"`` or ``"sgd"`` (see above).
        options: :class:`GAN`'s.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        unroll_steps: int = 5,
        unroll_optimizer: UnrollOptimizer = "adam",
        **options: Any,
    ) -> None:
        if unroll_steps < 0:
            raise ValueError(f"unroll_steps must be >= 0 (0 is the plain GAN), got {unroll_steps}.")
        check_choice("unroll_optimizer", unroll_optimizer, UnrollOptimizer)
        super().__init__(generator, discriminator, **options)

    def generator_objective(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The generator loss against theta_D^K, differentiable through the K unrolled updates."""
        if self.hparams.unroll_steps == 0:
            return super().generator_objective(real, fake, labels)
        params, buffers = self.unrolled_discriminator(real, fake, labels)
        logits = self._functional_discriminate(params, buffers, fake, labels)
        return generator_loss(logits, self.hparams.loss).mean()

    def unrolled_discriminator(
        self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """theta_D^K as a dict of tensors that depend on the generator through ``fake`` (plus the buffers)."""
        hp = self.hparams
        d = self.discriminator
        # theta_D^0: the current weights as constants (new leaves), so the generator's gradient flows only
        # through the unrolled updates and the real discriminator's .grad is never touched.
        params = {name: p.detach().requires_grad_(True) for name, p in d.named_parameters()}
        buffers = {name: b.detach().clone() for name, b in d.named_buffers()}
        state = self._adam_state(params) if hp.unroll_optimizer == "adam" else None
        with torch.enable_grad():  # the lookahead needs D's gradients even when called under no_grad
            for _ in range(hp.unroll_steps):
                real_logits = self._functional_discriminate(params, buffers, real, labels)
                fake_logits = self._functional_discriminate(params, buffers, fake, labels)
                targets = self.real_targets(real_logits)  # drawn from this batch's step generator
                loss_real, loss_fake = discriminator_loss(real_logits, fake_logits, hp.loss, targets)
                d_loss = loss_real.mean() + loss_fake.mean()
                grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True)
                params = self._unrolled_update(params, dict(zip(params, grads, strict=True)), state)
        return params, buffers

    # ------------------------------------------------------------------ helpers
    def _functional_discriminate(
        self,
        params: dict[str, torch.Tensor],
        buffers: dict[str, torch.Tensor],
        x: torch.Tensor,
        labels: torch.Tensor | None,
    ) -> torch.Tensor:
        args = (x,) if labels is None else (x, labels)
        return functional_call(self.discriminator, {**params, **buffers}, args)

    def _adam_state(self, params: dict[str, torch.Tensor]) -> dict[str, object]:
        """A copy of the discriminator optimiser's Adam state (moments, step count, hyper-parameters)."""
        optimizer = self.optimizers()[1]
        optimizer = getattr(optimizer, "optimizer", optimizer)  # unwrap LightningOptimizer
        group = optimizer.param_groups[0]
        state = {"lr": group["lr"], "betas": group["betas"], "eps": group["eps"], "m": {}, "v": {}, "step": {}}
        for name, p in self.discriminator.named_parameters():
            s = optimizer.state.get(p, {})
            zeros = torch.zeros_like(params[name])
            state["m"][name] = s["exp_avg"].detach() if "exp_avg" in s else zeros
            state["v"][name] = s["exp_avg_sq"].detach() if "exp_avg_sq" in s else zeros
            state["step"][name] = float(s["step"]) if "step" in s else 0.0
        return state

    def _unrolled_update(
        self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], state: dict | None
    ) -> dict[str, torch.Tensor]:
        """One differentiable discriminator step (descent on its loss), Adam or SGD."""
        if state is None:
            lr = self.hparams.lr_d
            return {name: p - lr * grads[name] for name, p in params.items()}
        lr, (beta1, beta2), eps = state["lr"], state["betas"], state["eps"]
        new = {}
        for name, p in params.items():
            g = grads[name]
            m = state["m"][name] = beta1 * state["m"][name] + (1 - beta1) * g
            v = state["v"][name] = beta2 * state["v"][name] + (1 - beta2) * g * g
            step = state["step"][name] = state["step"][name] + 1
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            # clamp: d sqrt(v)/dv is infinite at v = 0 (a parameter whose gradients were all 0 so far)
            new[name] = p - lr * m_hat / (v_hat.clamp_min(1e-30).sqrt() + eps)
        return new
