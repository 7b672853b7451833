"""DeiT soft and hard distillation and the Noisy Student terms."""

import math

import jax
import numpy as np

from jaxssl import losses

RNG = np.random.default_rng(0)
STUDENT, TEACHER, DISTILL = RNG.normal(scale=2.0, size=(3, 6, 4)).astype(np.float32)
LABELS = np.array([0, 1, 2, 3, 0, 1])
ONE_HOT = np.eye(4, dtype=np.float32)

soft = jax.jit(losses.soft_distillation_loss)
hard = jax.jit(losses.hard_distillation_loss)


def test_soft_distillation_with_zero_lambda_is_cross_entropy():
  ce = losses.softmax_cross_entropy_with_integer_labels(STUDENT, LABELS)
  np.testing.assert_allclose(soft(STUDENT, TEACHER, LABELS, 3.0, 0.0), ce, rtol=1e-6)
  smoothed = 0.9 * ONE_HOT[LABELS] + 0.1 / 4
  np.testing.assert_allclose(soft(STUDENT, TEACHER, smoothed, 3.0, 0.0),
                             losses.softmax_cross_entropy(STUDENT, smoothed), rtol=1e-6)


def test_soft_distillation_tau_squared_and_kl_direction_by_hand():
  # tau = 2: student softmax([2 ln 3, 0] / 2) = [3/4, 1/4], teacher uniform.
  student = np.array([[2.0 * math.log(3.0), 0.0]], np.float32)
  teacher = np.zeros((1, 2), np.float32)
  # tau^2 KL(teacher || student) = 4 (0.5 ln(0.5 / 0.75) + 0.5 ln(0.5 / 0.25)) = 2 ln(4/3).
  np.testing.assert_allclose(soft(student, teacher, np.array([0]), 2.0, 1.0),
                             [2.0 * math.log(4.0 / 3.0)], rtol=1e-6)
  # lam = 1/2 mixes in half the cross-entropy -ln softmax(student)[0] = -ln(9/10).
  np.testing.assert_allclose(soft(student, teacher, np.array([0]), 2.0, 0.5),
                             [0.5 * -math.log(0.9) + math.log(4.0 / 3.0)], rtol=1e-6)


def test_soft_distillation_token_takes_the_kl_term():
  loss = soft(STUDENT, TEACHER, LABELS, 3.0, 0.5, DISTILL)
  expected = (0.5 * losses.softmax_cross_entropy_with_integer_labels(STUDENT, LABELS)
              + 0.5 * 9.0 * losses.kl_divergence_with_logits(TEACHER / 3.0, DISTILL / 3.0))
  np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_no_gradient_into_the_teacher():
  grad = jax.jit(jax.grad(
      lambda t: losses.soft_distillation_loss(STUDENT, t, LABELS, 3.0, 0.5).sum()))(TEACHER)
  np.testing.assert_array_equal(grad, np.zeros_like(TEACHER))
  grad = jax.jit(jax.grad(lambda t: losses.hard_distillation_loss(STUDENT, t, LABELS).sum()))(
      TEACHER)
  np.testing.assert_array_equal(grad, np.zeros_like(TEACHER))


def test_hard_distillation_is_the_average_of_two_cross_entropies():
  teacher_labels = np.argmax(TEACHER, -1)
  ce = losses.softmax_cross_entropy_with_integer_labels
  np.testing.assert_allclose(hard(STUDENT, TEACHER, LABELS),
                             0.5 * ce(STUDENT, LABELS) + 0.5 * ce(STUDENT, teacher_labels),
                             rtol=1e-6)
  np.testing.assert_allclose(hard(STUDENT, TEACHER, LABELS, DISTILL),
                             0.5 * ce(STUDENT, LABELS) + 0.5 * ce(DISTILL, teacher_labels),
                             rtol=1e-6)
  # When the teacher agrees with the labels, both terms coincide.
  agreeing_teacher = 10.0 * ONE_HOT[LABELS]
  np.testing.assert_allclose(hard(STUDENT, agreeing_teacher, LABELS), ce(STUDENT, LABELS),
                             rtol=1e-6)


def test_noisy_student_terms_with_hard_and_soft_teacher_targets():
  ce = losses.softmax_cross_entropy_with_integer_labels
  unlabeled = STUDENT[:4]
  teacher_labels = np.array([3, 2, 1, 0])
  labeled_ce, unlabeled_ce = jax.jit(losses.noisy_student_loss)(DISTILL, LABELS, unlabeled,
                                                                 teacher_labels)
  assert labeled_ce.shape == (6,) and unlabeled_ce.shape == (4,)
  np.testing.assert_allclose(labeled_ce, ce(DISTILL, LABELS), rtol=1e-6)
  np.testing.assert_allclose(unlabeled_ce, ce(unlabeled, teacher_labels), rtol=1e-6)
  teacher_probs = RNG.dirichlet(np.ones(4), size=4).astype(np.float32)
  _, soft_ce = jax.jit(losses.noisy_student_loss)(DISTILL, LABELS, unlabeled, teacher_probs)
  np.testing.assert_allclose(soft_ce, losses.softmax_cross_entropy(unlabeled, teacher_probs),
                             rtol=1e-6)
  _, one_hot_ce = jax.jit(losses.noisy_student_loss)(DISTILL, LABELS, unlabeled,
                                                     ONE_HOT[teacher_labels])
  np.testing.assert_allclose(one_hot_ce, unlabeled_ce, rtol=1e-6)
