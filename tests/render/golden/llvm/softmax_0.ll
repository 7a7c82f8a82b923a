define internal float @bf16_to_f32(i16 %b) #0 {
  %w = zext i16 %b to i32
  %s = shl i32 %w, 16
  %f = bitcast i32 %s to float
  ret float %f
}
define internal i16 @f32_to_bf16(float %f) #0 {
  %u = bitcast float %f to i32
  %a = and i32 %u, 2147483647
  %isnan = icmp ugt i32 %a, 2139095040
  %h = lshr i32 %u, 16
  %nan = or i32 %h, 64
  %lsb = and i32 %h, 1
  %r0 = add i32 %u, 32767
  %r1 = add i32 %r0, %lsb
  %r = lshr i32 %r1, 16
  %res = select i1 %isnan, i32 %nan, i32 %r
  %t = trunc i32 %res to i16
  ret i16 %t
}
attributes #0 = { alwaysinline nounwind }

declare float @llvm.exp.f32(float)
attributes #1 = { nounwind "frame-pointer"="none" }
define void @softmax_0(ptr %p0, ptr %p1, i32 %start, i32 %end) #1 {
entry:
  %l4.addr = alloca i32
  %acc6 = alloca float
  %l7.addr = alloca i32
  %acc12 = alloca float
  %l13.addr = alloca i32
  %l20.addr = alloca i32
  br label %body0
body0:
  store i32 %start, ptr %l4.addr
  br label %head4
head4:
  %l4 = load i32, ptr %l4.addr
  %cond4 = icmp slt i32 %l4, %end
  br i1 %cond4, label %loop4, label %exit4
loop4:
  %t1 = mul i32 %l4, 48
  store float 0xFFF0000000000000, ptr %acc6
  store i32 0, ptr %l7.addr
  br label %head7
head7:
  %l7 = load i32, ptr %l7.addr
  %cond7 = icmp slt i32 %l7, 48
  br i1 %cond7, label %loop7, label %exit7
loop7:
  %t2 = add i32 %t1, %l7
  %t4 = getelementptr inbounds float, ptr %p1, i32 %t2
  %t3 = load float, ptr %t4
  %t6 = load float, ptr %acc6
  %t7 = fcmp ogt float %t6, %t3
  %t8 = fcmp uno float %t6, %t6
  %t9 = or i1 %t7, %t8
  %t10 = select i1 %t9, float %t6, float %t3
  store float %t10, ptr %acc6
  %t11 = add nsw i32 %l7, 1
  store i32 %t11, ptr %l7.addr
  br label %head7
exit7:
  store float 0x0000000000000000, ptr %acc12
  store i32 0, ptr %l13.addr
  br label %head13
head13:
  %l13 = load i32, ptr %l13.addr
  %cond13 = icmp slt i32 %l13, 48
  br i1 %cond13, label %loop13, label %exit13
loop13:
  %t12 = add i32 %t1, %l13
  %t14 = getelementptr inbounds float, ptr %p1, i32 %t12
  %t13 = load float, ptr %t14
  %t16 = load float, ptr %acc6
  %t17 = fsub float %t13, %t16
  %t18 = call float @llvm.exp.f32(float %t17)
  %t19 = load float, ptr %acc12
  %t20 = fadd float %t19, %t18
  store float %t20, ptr %acc12
  %t21 = add nsw i32 %l13, 1
  store i32 %t21, ptr %l13.addr
  br label %head13
exit13:
  store i32 0, ptr %l20.addr
  br label %head20
head20:
  %l20 = load i32, ptr %l20.addr
  %cond20 = icmp slt i32 %l20, 48
  br i1 %cond20, label %loop20, label %exit20
loop20:
  %t22 = add i32 %t1, %l20
  %t24 = getelementptr inbounds float, ptr %p1, i32 %t22
  %t23 = load float, ptr %t24
  %t26 = load float, ptr %acc6
  %t27 = fsub float %t23, %t26
  %t28 = call float @llvm.exp.f32(float %t27)
  %t29 = load float, ptr %acc12
  %t30 = fdiv float %t28, %t29
  %t32 = getelementptr inbounds float, ptr %p0, i32 %t22
  store float %t30, ptr %t32
  %t33 = add nsw i32 %l20, 1
  store i32 %t33, ptr %l20.addr
  br label %head20
exit20:
  %t34 = add nsw i32 %l4, 1
  store i32 %t34, ptr %l4.addr
  br label %head4
exit4:
  ret void
}
